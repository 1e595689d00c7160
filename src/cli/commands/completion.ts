// prism completion bash|zsh: prints a completion script for the shell.
import { Argument, Command } from 'commander';
import { act, examples, type CliContext } from '../command-kit';
import { completionScript, SHELLS, type Shell } from '../completion';

export function completionCommand(context: CliContext): Command {
  return new Command('completion')
    .description('print a shell completion script')
    .addArgument(new Argument('<shell>', 'the shell').choices(SHELLS))
    .addHelpText(
      'after',
      examples('eval "$(prism completion bash)"   # in ~/.bashrc', 'eval "$(prism completion zsh)"    # in ~/.zshrc'),
    )
    .action(
      act(context, async (command) => {
        const [shell] = command.processedArgs as [Shell];
        let root = command;
        while (root.parent) root = root.parent;
        context.io.out(completionScript(root, shell).trimEnd());
      }),
    );
}
