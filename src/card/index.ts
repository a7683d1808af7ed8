/**
 * The card stage: takes the release's data info, cluster statistics, models and source (CardInputs), and gives README.md
 * (YAML header as push_to_hub writes it, generated blocks with every number computed) and its plots under assets/.
 */
export type { CardChangelog, CardInputs, CardManualChange, CardReview, CardModel, CardProblem, CardSource, ClusterStats } from "./card-inputs.ts";
export { writeCard } from "./write-card.ts";
export type { WriteCardParams, WriteCardResult } from "./write-card.ts";
export { checkCard } from "./check-card.ts";
export type { CheckCardParams } from "./check-card.ts";
export { renderCard, renderBlocks } from "./render-card.ts";
export type { RenderCardParams } from "./render-card.ts";
export { renderPlots } from "./render-plots.ts";
export type { CardPlot } from "./render-plots.ts";
export { saveCardInputs, loadCardInputs } from "./card-inputs-file.ts";
export type { SavedCardInputs } from "./card-inputs-file.ts";
export { sizeCategory, SIZE_CATEGORIES } from "./size-category.ts";
export { splitCard, joinCard } from "./card-front-matter.ts";
export { diffCards } from "./diff-cards.ts";
export type { CardDiff } from "./diff-cards.ts";
export { cardMetadata, datasetInfoYaml, parseCardHeader, CONFIG_NAME } from "./card-metadata.ts";
export { BLOCK_NAMES, DEFAULT_TEMPLATES_DIR } from "./card-templates.ts";
export { CARD_ASSET_PATHS } from "./card-context.ts";
