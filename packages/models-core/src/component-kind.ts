import { ComponentKindError } from "./errors.js"
import type { SessionLike } from "./session.js"

/** What a model is, judged from its input and output names. */
export type ComponentKind =
  | "unet"
  | "transformer"
  | "controlnet"
  | "text-encoder"
  | "vae-encoder"
  | "vae-decoder"
  | "image-encoder"
  | "unknown"

const describeKind: Record<ComponentKind, string> = {
  unet: "a UNet (inputs sample, timestep, encoder_hidden_states)",
  transformer: "a diffusion transformer (inputs hidden_states, timestep, encoder_hidden_states)",
  controlnet: "a ControlNet (inputs sample, timestep, controlnet_cond)",
  "text-encoder": "a text encoder (input input_ids)",
  "vae-encoder": "a VAE encoder (input sample, output latent_parameters / latent_sample)",
  "vae-decoder": "a VAE decoder (input latent_sample, output sample)",
  "image-encoder": "an image encoder (input pixel_values)",
  unknown: "an unrecognised model",
}

/**
 * Classifies a model from its inputs and outputs (names only, so any exporter version works).
 *
 * @example
 * detectComponentKind(await createSession("tiny-sdxl/unet/model.onnx")) // "unet"
 */
export function detectComponentKind(session: Pick<SessionLike, "inputs" | "outputs">): ComponentKind {
  const inputs = new Set(session.inputs.map((io) => io.name))
  const outputs = new Set(session.outputs.map((io) => io.name))
  if (inputs.has("controlnet_cond")) return "controlnet"
  if (inputs.has("timestep") && inputs.has("encoder_hidden_states")) {
    if (inputs.has("sample")) return "unet"
    if (inputs.has("hidden_states")) return "transformer"
  }
  if (inputs.has("input_ids")) return "text-encoder"
  if (inputs.has("pixel_values")) return "image-encoder"
  if (inputs.has("latent_sample") && outputs.has("sample")) return "vae-decoder"
  if (
    inputs.has("sample") &&
    (outputs.has("latent_parameters") || outputs.has("latent_sample") || outputs.has("latent_dist") || outputs.has("latents"))
  ) {
    return "vae-encoder"
  }
  return "unknown"
}

/**
 * Throws a {@link ComponentKindError} unless the session is of the expected kind. `where` names the
 * component folder for the message.
 */
export function assertComponentKind(
  session: Pick<SessionLike, "inputs" | "outputs" | "path">,
  expected: ComponentKind | readonly ComponentKind[],
  where: string,
): ComponentKind {
  const allowed = typeof expected === "string" ? [expected] : expected
  const found = detectComponentKind(session)
  if (allowed.includes(found)) return found
  const io = `inputs ${session.inputs.map((i) => i.name).join(", ")}; outputs ${session.outputs.map((o) => o.name).join(", ")}`
  throw new ComponentKindError(
    allowed.join(" | "),
    found,
    `${where}${session.path === undefined ? "" : ` (${session.path})`} should hold ${allowed.map((k) => describeKind[k]).join(" or ")}, ` +
      `but it looks like ${describeKind[found]} (${io}). Check that each component folder holds the right model.`,
  )
}
