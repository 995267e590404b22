import { z } from "zod"

/** The tasks the studio runs, named as diffusers' AutoPipelines. */
export const STUDIO_TASKS = ["text2image", "image2image", "inpainting"] as const

/** One of {@link STUDIO_TASKS}. */
export type StudioTask = (typeof STUDIO_TASKS)[number]

/** A PNG or JPEG as a `data:` URL or bare base64 (the page sends canvas `toDataURL()` output). */
const encodedImage = z
  .string({ error: "expected a PNG or JPEG as a data:image/png;base64,… URL or bare base64 (the mask: white = repaint, black = keep)" })
  .min(16, "expected a PNG or JPEG as a data: URL or base64")
  .max(16_000_000, "expected an image under 12 MB")
  .regex(/^(data:image\/(png|jpeg);base64,)?[A-Za-z0-9+/=\s]+$/, "expected a PNG or JPEG as a data:image/png;base64,… URL or bare base64")

const size = z.number().int().min(16).max(2048).multipleOf(8)

/** Fields every task takes. Unset fields get the model's defaults (`GET /api/model`). */
const common = {
  prompt: z.string().min(1, "expected a non-empty prompt").max(4000),
  negativePrompt: z.string().max(4000).optional(),
  seed: z.number().int().min(0).max(4_294_967_295).optional(),
  steps: z.number().int().min(1).max(200).optional(),
  guidanceScale: z.number().min(0).max(50).optional(),
  pagScale: z.number().min(0).max(50).optional(),
  pagLayers: z.array(z.string().min(1).max(200)).min(1, "expected at least one layer pattern, e.g. [\"mid\"]").max(128).optional(),
  width: size.optional(),
  height: size.optional(),
  scheduler: z.string().min(1).max(100).optional(),
}

/**
 * `POST /api/jobs` body: a discriminated union on `task`. Unknown fields are rejected (a typo is an error, not
 * silently ignored).
 */
export const jobRequestSchema = z.discriminatedUnion("task", [
  z.strictObject({ task: z.literal("text2image"), ...common }),
  z.strictObject({ task: z.literal("image2image"), ...common, image: encodedImage, strength: z.number().gt(0).max(1).optional() }),
  z.strictObject({ task: z.literal("inpainting"), ...common, image: encodedImage, mask: encodedImage, strength: z.number().gt(0).max(1).optional() }),
])

/** A validated `POST /api/jobs` body. */
export type JobRequest = z.infer<typeof jobRequestSchema>

/**
 * A job as it is queued: the request with every default filled in. Plain JSON (it is stored in Redis in queue
 * mode); images stay base64.
 */
export interface JobInput {
  readonly task: StudioTask
  readonly prompt: string
  readonly negativePrompt?: string
  readonly seed: number
  readonly steps: number
  readonly guidanceScale: number
  readonly pagScale: number
  readonly pagLayers: readonly string[]
  readonly width: number
  readonly height: number
  readonly scheduler: string
  /** Base64 of the init image (image2image, inpainting). */
  readonly image?: string
  /** Base64 of the mask, white = repaint (inpainting). */
  readonly mask?: string
  readonly strength?: number
}

/** The states a job goes through; `done`, `failed` and `cancelled` are final. */
export type JobState = "queued" | "running" | "done" | "failed" | "cancelled"

/** `GET /api/jobs/:id`, and each Server-Sent Event of `/events`. `step` counts finished denoising steps. */
export interface JobStatus {
  readonly id: string
  readonly state: JobState
  readonly step: number
  readonly steps: number
  readonly error?: { readonly code: string; readonly message: string }
}

/** True for `done`, `failed` and `cancelled`. */
export function isFinal(state: JobState): boolean {
  return state === "done" || state === "failed" || state === "cancelled"
}

/** Bare base64 of an image field (drops a `data:` URL prefix and whitespace). */
export function stripDataUrl(image: string): string {
  return image.replace(/^data:image\/(png|jpeg);base64,/, "").replace(/\s+/g, "")
}
