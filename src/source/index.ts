/**
 * The source stage: takes a Parquet snapshot (image struct column) or an image folder, and gives its images in source
 * order with a stable row identity (row, file name, SHA-256, bytes, pass-through columns) and decodes them to RGB.
 */
export type { ImageSource, SourceImage } from "./image-source.ts";
export { plainValue } from "./image-source.ts";
export { decodeImage, sniffImageFormat, ImageDecodeError, DEFAULT_MAX_PIXELS } from "./decode-image.ts";
export type { DecodeImageParams, ImageFormat } from "./decode-image.ts";
export { decodedByteSize } from "./decoded-byte-size.ts";
export { listImageFolder, openImageFolder, parseCsv, IMAGE_EXTENSIONS } from "./image-folder.ts";
export type { ImageFolderEntry, ImageFolderParams } from "./image-folder.ts";
export { openParquetImages, selectSplitShards, isParquetSnapshot } from "./parquet-images.ts";
export type { ParquetImagesParams } from "./parquet-images.ts";
export { transformImage } from "./transform-image.ts";
export type { ImageTransform, TransformImageParams } from "./transform-image.ts";
