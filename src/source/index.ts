/** Image sources: what the embed stage reads, in source order, with a stable row identity. */
export type { ImageSource, SourceImage } from "./image-source.ts";
export { plainValue } from "./image-source.ts";
export { decodeImage, sniffImageFormat, ImageDecodeError, DEFAULT_MAX_PIXELS } from "./decode-image.ts";
export type { DecodeImageParams, ImageFormat } from "./decode-image.ts";
export { listImageFolder, openImageFolder, parseCsv, IMAGE_EXTENSIONS } from "./image-folder.ts";
export type { ImageFolderEntry, ImageFolderParams } from "./image-folder.ts";
export { openParquetImages, selectSplitShards, isParquetSnapshot } from "./parquet-images.ts";
export type { ParquetImagesParams, ByteRangeSource } from "./parquet-images.ts";
export { transformImage } from "./transform-image.ts";
export type { ImageTransform, TransformImageParams } from "./transform-image.ts";
