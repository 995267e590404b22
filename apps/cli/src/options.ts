// Every option of every command, in one table: the parser and the per-command help are made from it.

/** The commands. */
export type Command = "generate" | "img2img" | "inpaint" | "compare" | "layers"

/** The commands that run a pipeline. */
export type RunCommand = "generate" | "img2img" | "inpaint"

/** One option's spelling, help line and the commands that take it. */
export interface OptionSpec {
  readonly name: string
  readonly short?: string
  readonly type: "string" | "boolean"
  /** May be given more than once (values collected in order). */
  readonly multiple?: boolean
  /** Placeholder in help, e.g. `<n>`. */
  readonly value?: string
  readonly help: string
  /** The default as help shows it (the real one the code applies). */
  readonly default?: string
  readonly commands: readonly Command[]
  readonly group: "main" | "guidance" | "family" | "models" | "output" | "runtime" | "compare" | "layers"
}

const run: readonly Command[] = ["generate", "img2img", "inpaint", "compare"]
const all: readonly Command[] = ["generate", "img2img", "inpaint", "compare", "layers"]

/** The option table. */
export const OPTIONS: readonly OptionSpec[] = [
  { name: "prompt", short: "p", type: "string", value: "<text>", help: "what to draw (required)", commands: run, group: "main" },
  { name: "negative-prompt", type: "string", value: "<text>", help: "what to avoid", default: "none", commands: run, group: "main" },
  { name: "out", short: "o", type: "string", value: "<file>", help: "image to write; the extension picks the format: .png, .jpg/.jpeg, .webp (required)", commands: run, group: "main" },
  { name: "model", short: "m", type: "string", value: "<dir>", help: "diffusers ONNX folder of SDXL or PixArt-Sigma (a hub id org/name needs @pagkit/hub)", default: "the embedded tiny-sdxl-shapes", commands: all, group: "main" },
  { name: "image", short: "i", type: "string", value: "<file>", help: "the picture to start from (img2img, inpaint; required there)", commands: ["img2img", "inpaint"], group: "main" },
  { name: "mask", type: "string", value: "<file>", help: "white where to repaint (inpaint; required)", commands: ["inpaint"], group: "main" },
  { name: "strength", type: "string", value: "<x>", help: "how much of the schedule to run, in (0, 1]", default: "img2img 0.3, inpaint 0.9999 (diffusers')", commands: ["img2img", "inpaint"], group: "main" },
  { name: "steps", short: "n", type: "string", value: "<n>", help: "inference steps", default: "30 on the embedded model, else 50", commands: run, group: "main" },
  { name: "seed", short: "s", type: "string", value: "<n>", help: "torch-compatible seed (diffusers gives the same image with manual_seed(n))", default: "0", commands: ["generate", "img2img", "inpaint"], group: "main" },
  { name: "seeds", type: "string", value: "<list>", help: "one image per seed: ranges and lists, e.g. 0-3 or 1,5,9 (files get -seed<N>)", default: "the one --seed; compare: 0-3", commands: run, group: "main" },
  { name: "num-images", type: "string", value: "<n>", help: "images per seed; with n > 1, -1, -2, … is added to the file name", default: "1", commands: ["generate", "img2img", "inpaint"], group: "main" },
  { name: "width", type: "string", value: "<px>", help: "image width", default: "text-to-image: the model's; img2img, inpaint: the input's", commands: run, group: "main" },
  { name: "height", type: "string", value: "<px>", help: "image height", default: "as --width", commands: run, group: "main" },

  { name: "guidance-scale", short: "g", type: "string", value: "<g>", help: "CFG scale; <= 1 turns CFG off", default: "SDXL 5, SDXL inpaint 7.5, PixArt-Sigma 4.5", commands: run, group: "guidance" },
  { name: "guidance-rescale", type: "string", value: "<r>", help: "CFG rescale in [0, 1]", default: "0", commands: run, group: "guidance" },
  { name: "cfg-window", type: "string", value: "<a,b>", help: "fractions of the run where CFG is on, e.g. 0,0.5", default: "0,1", commands: run, group: "guidance" },
  { name: "pag-scale", type: "string", value: "<s>", help: "Perturbed-Attention Guidance scale; 0 turns PAG off", default: "3", commands: run, group: "guidance" },
  { name: "pag-layers", type: "string", value: "<list>", help: "comma-separated layer patterns, e.g. down.block_2,mid (see pagkit layers)", default: "SDXL mid, PixArt-Sigma blocks.1", commands: run, group: "guidance" },
  { name: "pag-adaptive-scale", type: "string", value: "<a>", help: "PAG adaptive scale", default: "0", commands: run, group: "guidance" },
  { name: "pag-window", type: "string", value: "<a,b>", help: "fractions of the run where PAG is on, e.g. 0,0.5", default: "0,1", commands: run, group: "guidance" },
  { name: "guidance", type: "string", value: "<file.json>", help: "the whole guidance chain as JSON instead of the guidance flags (schema in the README)", commands: run, group: "guidance" },
  { name: "plugins", type: "string", value: "<module>", help: "a module exporting hookKinds / guidance / families for custom strategies (path or package)", commands: run, group: "guidance" },

  { name: "seg-scale", type: "string", value: "<s>", help: "Smoothed Energy Guidance scale (adds a \"seg\" term)", commands: run, group: "family" },
  { name: "seg-blur-sigma", type: "string", value: "<σ>", help: "SEG query blur sigma", default: "the strategy's", commands: run, group: "family" },
  { name: "seg-layers", type: "string", value: "<list>", help: "SEG layer patterns", default: "the strategy's", commands: run, group: "family" },
  { name: "seg-window", type: "string", value: "<a,b>", help: "fractions of the run where SEG is on", default: "the strategy's", commands: run, group: "family" },
  { name: "slg-scale", type: "string", value: "<s>", help: "Skip-Layer Guidance scale (adds an \"slg\" term)", commands: run, group: "family" },
  { name: "slg-layers", type: "string", value: "<list>", help: "SLG block patterns", default: "the strategy's", commands: run, group: "family" },
  { name: "slg-window", type: "string", value: "<a,b>", help: "fractions of the run where SLG is on", default: "the strategy's", commands: run, group: "family" },
  { name: "apg", type: "boolean", help: "Adaptive Projected Guidance in place of CFG (\"apg\", at --guidance-scale)", commands: run, group: "family" },
  { name: "apg-eta", type: "string", value: "<η>", help: "APG eta", default: "the strategy's (1)", commands: run, group: "family" },
  { name: "apg-norm-threshold", type: "string", value: "<x>", help: "APG norm threshold (0 = no limit)", default: "the strategy's (15)", commands: run, group: "family" },
  { name: "apg-momentum", type: "string", value: "<β>", help: "APG momentum, e.g. -0.5", default: "none", commands: run, group: "family" },
  { name: "cfg-zero-star", type: "boolean", help: "CFG-Zero* in place of CFG (\"cfg-zero-star\", at --guidance-scale)", commands: run, group: "family" },
  { name: "zero-init-steps", type: "string", value: "<n>", help: "CFG-Zero* zero-init steps", default: "the strategy's (1)", commands: run, group: "family" },

  { name: "execution", type: "string", value: "<mode>", help: "how PAG's perturbed rows run: full, split (shared prefix, same numbers) or auto", default: "full", commands: run, group: "models" },
  { name: "scheduler", type: "string", value: "<class>", help: "e.g. EulerDiscreteScheduler, DPMSolverMultistepScheduler", default: "the model's", commands: run, group: "models" },
  { name: "layer-matching", type: "string", value: "<mode>", help: "how layer patterns are read: diffusers (re.search) or strict (whole numbers, down.block_2 syntax)", default: "diffusers", commands: all, group: "models" },
  { name: "unet", type: "string", value: "<dir>", help: "a UNet folder instead of the model's (e.g. one taking ControlNet residuals)", commands: all, group: "models" },
  { name: "controlnet", type: "string", multiple: true, value: "<dir>", help: "ControlNet folder; repeat for several", commands: run, group: "models" },
  { name: "control-image", type: "string", multiple: true, value: "<file>", help: "control image, one per --controlnet, in order", commands: run, group: "models" },
  { name: "controlnet-scale", type: "string", value: "<s>", help: "conditioning scale: one number, or one per ControlNet (comma-separated)", default: "1", commands: run, group: "models" },
  { name: "ip-adapter", type: "string", multiple: true, value: "<file>", help: "IP-Adapter weights (.safetensors or PyTorch .bin; base or Plus); repeat for several adapters", commands: run, group: "models" },
  { name: "ip-adapter-image", type: "string", multiple: true, value: "<file>", help: "the reference image; repeat for one per adapter (one serves every adapter)", commands: run, group: "models" },
  { name: "ip-adapter-scale", type: "string", multiple: true, value: "<s>", help: "IP-Adapter scale; repeat for one per adapter", default: "1", commands: run, group: "models" },
  { name: "image-encoder", type: "string", value: "<dir>", help: "CLIP vision ONNX folder for the IP-Adapter", default: "image_encoder/ beside the weights", commands: run, group: "models" },

  { name: "force", short: "f", type: "boolean", help: "overwrite an existing regular file (never a link, FIFO, device, directory or read-only file)", commands: run, group: "output" },
  { name: "quality", type: "string", value: "<1-100>", help: "JPEG/WebP quality", default: "90", commands: run, group: "output" },
  { name: "json", type: "boolean", help: "one JSON event per line on stdout (progress, warning, output, done, error); nothing else", commands: all, group: "output" },
  { name: "quiet", short: "q", type: "boolean", help: "no progress or summary on stderr", commands: all, group: "output" },

  { name: "execution-provider", type: "string", multiple: true, value: "<name>", help: "onnxruntime execution provider, in preference order (repeat or comma-separate), e.g. cuda,cpu", default: "cpu", commands: run, group: "runtime" },
  { name: "threads", type: "string", value: "<n>", help: "onnxruntime intra-op threads (not wired to the pipelines yet: refused)", default: "onnxruntime's", commands: run, group: "runtime" },

  { name: "pag-scales", type: "string", value: "<list>", help: "rows: one per PAG scale, e.g. 0,1.5,3", commands: ["compare"], group: "compare" },
  { name: "layer-sets", type: "string", value: "<sets>", help: "rows: one per layer set, sets separated by ';', e.g. \"mid;down.block_2;mid,up.block_0\"", commands: ["compare"], group: "compare" },
  { name: "row-guidance", type: "string", multiple: true, value: "<file.json>", help: "rows: one per guidance chain file (labelled with the file name); repeat", commands: ["compare"], group: "compare" },

  { name: "pattern", type: "string", multiple: true, value: "<p>", help: "show what these layer patterns resolve to (repeat or comma-separate)", commands: ["layers"], group: "layers" },
  { name: "target", type: "string", value: "<kind>", help: "site type: self-attention, cross-attention, joint-attention, attention-query, block, feed-forward", default: "self-attention", commands: ["layers"], group: "layers" },

  { name: "help", short: "h", type: "boolean", help: "this help", commands: all, group: "output" },
]

const groups: Record<OptionSpec["group"], string> = {
  main: "options",
  guidance: "guidance",
  family: "guidance family (builds a chain; see the README)",
  models: "models and adapters",
  output: "output",
  runtime: "runtime",
  compare: "grid rows (rows multiply: pag-scales × layer-sets, then one per --row-guidance; columns are seeds)",
  layers: "layers",
}

const synopsis: Record<Command, string> = {
  generate: "pagkit generate -p <text> -o <file> [options]      text to image",
  img2img: "pagkit img2img -p <text> -i <file> -o <file> [options]  image to image",
  inpaint: "pagkit inpaint -p <text> -i <file> --mask <file> -o <file> [options]",
  compare: "pagkit compare -p <text> -o <grid.png> [--seeds 0-3] [--pag-scales 0,3] [--layer-sets \"mid;up\"] [--row-guidance f.json]",
  layers: "pagkit layers [MODEL] [--pattern <p>] [--target <kind>]    hookable layers and what patterns select",
}

/** Exit codes as help lists them. */
export const EXIT_CODES_HELP = "exit codes: 0 done, 1 run failed, 2 bad command line (nothing ran), 70 internal error, 130 stopped by Ctrl-C"

/** The top-level help. */
export function mainHelp(version: string): string {
  return [
    `pagkit ${version}: diffusion pipelines (SDXL, PixArt-Sigma) with PAG and the guidance family, on onnxruntime-node`,
    "",
    "usage:",
    ...Object.values(synopsis).map((s) => `  ${s}`),
    "  pagkit <command> --help   options of a command",
    "  pagkit --version",
    "",
    EXIT_CODES_HELP,
  ].join("\n")
}

/** The help of one command: synopsis, then its options by group with their real defaults. */
export function commandHelp(command: Command): string {
  const lines = [`usage: ${synopsis[command]}`]
  for (const [group, title] of Object.entries(groups)) {
    const specs = OPTIONS.filter((o) => o.group === group && o.commands.includes(command))
    if (specs.length === 0) continue
    lines.push("", `${title}:`)
    for (const o of specs) {
      const flag = `${o.short === undefined ? "    " : `-${o.short}, `}--${o.name}${o.value === undefined ? "" : ` ${o.value}`}`
      const help = `${o.help}${o.multiple === true ? " (repeatable)" : ""}${o.default === undefined ? "" : ` [default: ${o.default}]`}`
      lines.push(`  ${flag.padEnd(34)} ${help}`)
    }
  }
  lines.push("", EXIT_CODES_HELP)
  return lines.join("\n")
}
