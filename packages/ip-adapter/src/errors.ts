import { PagkitError } from "@pagkit/tensor"

/** Codes of every {@link IpAdapterError}. */
export type IpAdapterErrorCode = "IP_ADAPTER_WEIGHTS_MISMATCH" | "IP_ADAPTER_INPUT_INVALID" | "IP_ADAPTER_MODEL_INVALID"

/** Base class of every error thrown by `@pagkit/ip-adapter`. */
export class IpAdapterError<C extends IpAdapterErrorCode = IpAdapterErrorCode> extends PagkitError<C> {
  override readonly name: string = "IpAdapterError"
}

/** IP-Adapter weights that do not fit the UNet (layer count, dimensions, missing keys). */
export class IpAdapterWeightsError extends IpAdapterError {
  override readonly name = "IpAdapterWeightsError"
  override readonly code = "IP_ADAPTER_WEIGHTS_MISMATCH" as const
  constructor(message: string, options?: { cause?: unknown }) {
    super("IP_ADAPTER_WEIGHTS_MISMATCH", message, options)
  }
}

/** An image, embedding or scale given to the IP-Adapter that has the wrong shape or value. */
export class IpAdapterInputError extends IpAdapterError {
  override readonly name = "IpAdapterInputError"
  override readonly code = "IP_ADAPTER_INPUT_INVALID" as const
  constructor(message: string, options?: { cause?: unknown }) {
    super("IP_ADAPTER_INPUT_INVALID", message, options)
  }
}

/** An image encoder or feature extractor folder that lacks what the IP-Adapter needs. */
export class IpAdapterModelError extends IpAdapterError {
  override readonly name = "IpAdapterModelError"
  override readonly code = "IP_ADAPTER_MODEL_INVALID" as const
  constructor(message: string, options?: { cause?: unknown }) {
    super("IP_ADAPTER_MODEL_INVALID", message, options)
  }
}
