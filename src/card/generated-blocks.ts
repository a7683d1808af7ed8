/**
 * The card's generated blocks: Markdown between `<!-- idclusters:begin NAME -->` and
 * `<!-- idclusters:end NAME -->` lines. Everything between the markers is ours and is replaced on
 * every render; everything outside them is the author's and is never touched.
 */

export interface GeneratedBlock {
  name: string;
  /** Text between the marker lines, without the markers. */
  content: string;
  /** Offsets of the whole block (markers included) in the searched text. */
  start: number;
  end: number;
}

const NAME = /^[a-z][a-z0-9-]*$/;

export function beginMarker(name: string): string {
  return `<!-- idclusters:begin ${name} -->`;
}

export function endMarker(name: string): string {
  return `<!-- idclusters:end ${name} -->`;
}

/** The block as it appears in a card: markers on their own lines around `content`. */
export function wrapBlock(name: string, content: string): string {
  if (!NAME.test(name)) throw new Error(`invalid block name "${name}"`);
  const inner = content.endsWith("\n") ? content : content + "\n";
  return `${beginMarker(name)}\n${inner}${endMarker(name)}`;
}

const BLOCK = /<!-- idclusters:begin ([a-z][a-z0-9-]*) -->\r?\n([\s\S]*?)<!-- idclusters:end \1 -->/g;

/** Every well-formed block of `text`, in order. */
export function findBlocks(text: string): GeneratedBlock[] {
  return [...text.matchAll(BLOCK)].map((m) => ({
    name: m[1]!,
    content: m[2]!,
    start: m.index!,
    end: m.index! + m[0].length,
  }));
}

/**
 * Replaces the content of every block of `text` whose name is in `blocks` with the new content;
 * blocks with other names stay as they are. Returns the text and the names that were not found.
 */
export function replaceBlocks(text: string, blocks: ReadonlyMap<string, string>): { text: string; missing: string[] } {
  const found = new Set<string>();
  const replaced = text.replace(BLOCK, (whole, name: string) => {
    const content = blocks.get(name);
    if (content === undefined) return whole;
    found.add(name);
    return wrapBlock(name, content);
  });
  return { text: replaced, missing: [...blocks.keys()].filter((name) => !found.has(name)) };
}
