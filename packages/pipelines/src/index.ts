/**
 * @pagkit/pipelines: Text2Image, Image2Image and Inpainting pipelines and AutoPipeline.
 * @module
 */
export {}
