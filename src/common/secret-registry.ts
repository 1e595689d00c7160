// Values resolved from secret references, remembered so logs and error messages can scrub them
// wherever they turn up (inside a URL, an error message, a nested field).
const known = new Set<string>();

/** Secrets shorter than this are not scrubbed from text: they would match ordinary words. */
const MIN_SCRUB_LENGTH = 4;

export const REDACTED = '[redacted]';

export function registerSecret(value: string): void {
  if (value.length >= MIN_SCRUB_LENGTH) known.add(value);
  // A password inside a URL is often percent-encoded there.
  const encoded = encodeURIComponent(value);
  if (encoded !== value && encoded.length >= MIN_SCRUB_LENGTH) known.add(encoded);
}

// scheme://user:password@host → scheme://user:[redacted]@host
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@/?#\s]+)@/gi;

/** The text with every registered secret and every URL password replaced by [redacted]. */
export function scrubText(text: string): string {
  let out = text.replace(URL_PASSWORD, `$1${REDACTED}@`);
  for (const secret of known) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}
