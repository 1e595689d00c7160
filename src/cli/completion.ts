// Shell completion scripts generated from the command tree, so a new command or option completes
// without touching this file. Completes subcommand names, option flags and the values of options
// and arguments with a fixed set of choices (`-o json|table`, `--delivery …`).
import type { Command } from 'commander';

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

interface Node {
  path: string;
  words: string[];
  /** Option flag → the values it takes, for options with choices. */
  choices: Map<string, readonly string[]>;
}

function nodes(command: Command, parentPath = ''): Node[] {
  const path = parentPath ? `${parentPath} ${command.name()}` : command.name();
  const subcommands = command.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden);
  const choices = new Map<string, readonly string[]>();
  const flags: string[] = [];
  for (const option of command.options) {
    if (option.hidden) continue;
    for (const flag of [option.long, option.short]) {
      if (!flag) continue;
      flags.push(flag);
      if (option.argChoices) choices.set(flag, option.argChoices);
    }
  }
  const argumentChoices = command.registeredArguments.flatMap((a) => a.argChoices ?? []);
  const words = [...subcommands.map((c) => c.name()), ...argumentChoices, ...flags, '--help'];
  return [{ path, words, choices }, ...subcommands.flatMap((c) => nodes(c, path))];
}

const quote = (text: string): string => `"${text}"`;

export function completionScript(program: Command, shell: Shell): string {
  const all = nodes(program);
  const name = program.name();
  const fn = `_${name.replace(/[^A-Za-z0-9_]/g, '_')}_completion`;
  // Walk the words typed so far, descending into a subcommand whenever one is named.
  const descend = all
    .filter((n) => n.path !== name)
    .map((n) => quote(n.path))
    .join('|');
  const wordCases = all.map((n) => `    ${quote(n.path)}) candidates=${quote(n.words.join(' '))} ;;`).join('\n');
  const choiceCases = all
    .flatMap((n) =>
      [...n.choices].map(
        ([flag, values]) => `    ${quote(`${n.path} ${flag}`)}) candidates=${quote(values.join(' '))} ;;`,
      ),
    )
    .join('\n');
  const body = (words: string, first: string, current: string, previous: string): string => `
  local cmdpath=${quote(name)} word i candidates=""
  for ((i = ${first}; i < ${current}; i++)); do
    word="\${${words}[i]}"
    case "$cmdpath $word" in
      ${descend}) cmdpath="$cmdpath $word" ;;
    esac
  done
  case "$cmdpath ${previous}" in
${choiceCases}
  esac
  if [[ -z "$candidates" ]]; then
    case "$cmdpath" in
${wordCases}
    esac
  fi`;
  if (shell === 'bash') {
    return `# bash completion for ${name}: eval "$(${name} completion bash)" (e.g. in ~/.bashrc)
${fn}() {${body('COMP_WORDS', '1', 'COMP_CWORD', '${COMP_WORDS[COMP_CWORD-1]}')}
  COMPREPLY=($(compgen -W "$candidates" -- "\${COMP_WORDS[COMP_CWORD]}"))
}
complete -F ${fn} ${name}
`;
  }
  return `#compdef ${name}
# zsh completion for ${name}: eval "$(${name} completion zsh)" (e.g. in ~/.zshrc, after compinit)
${fn}() {${body('words', '2', 'CURRENT', '${words[CURRENT-1]}')}
  compadd -- \${=candidates}
}
compdef ${fn} ${name}
`;
}
