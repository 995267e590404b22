function describe(value: unknown): string {
  if (value === null) return "null"
  if (Array.isArray(value)) return `an array of ${value.length}`
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (typeof value === "object") return "an object"
  return `${typeof value} ${String(value)}`
}

/**
 * What is wrong with a prompt argument, or `undefined` when it is a string or a non-empty array of strings.
 * Each adapter throws its own input error with it, before anything reaches a tokenizer or onnxruntime.
 * @example
 * promptProblem([], "prompt") // "prompt is an empty array: pass a string, or one string per image"
 * promptProblem(123, "prompt") // "prompt must be a string or an array of strings, found number 123"
 */
export function promptProblem(value: unknown, what: string): string | undefined {
  if (typeof value === "string") return undefined
  if (!Array.isArray(value)) return `${what} must be a string or an array of strings, found ${describe(value)}. Pass "" for no prompt.`
  if (value.length === 0) return `${what} is an empty array: pass a string, or one string per image ("" for no prompt).`
  const bad = value.findIndex((p) => typeof p !== "string")
  if (bad >= 0) return `${what}[${bad}] must be a string, found ${describe(value[bad])}. Pass "" for an empty prompt.`
  return undefined
}
