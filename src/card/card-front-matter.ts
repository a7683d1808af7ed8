/**
 * Splits a README.md into its YAML header and Markdown body, and joins them back, the way
 * `huggingface_hub`'s RepoCard does: the header is the text between a leading `---` line and the
 * next `---` line; everything after it is the body, kept byte for byte.
 */

export interface CardParts {
  /** YAML text between the `---` lines (without them); undefined when the card has no header. */
  yaml: string | undefined;
  /** Markdown after the closing `---` line. */
  body: string;
}

// Same pattern as huggingface_hub's REGEX_YAML_BLOCK (leading whitespace allowed before `---`).
const HEADER = /^(\s*---[\r\n]+)([\S\s]*?)([\r\n]+---(\r\n|\n|$))/;

export function splitCard(text: string): CardParts {
  const match = HEADER.exec(text);
  if (!match) return { yaml: undefined, body: text };
  return { yaml: match[2]!, body: text.slice(match[0].length) };
}

/** `---\n<yaml>---\n<body>`; `yaml` must end with a newline (the yaml library's output does). */
export function joinCard(yaml: string, body: string): string {
  return `---\n${yaml.endsWith("\n") ? yaml : yaml + "\n"}---\n${body}`;
}
