// The allow-list of `torch.load(weights_only=True)` (torch `_weights_only_unpickler.py` `_get_allowed_globals`,
// `_tensor_rebuild_functions`, `_blocklisted_modules`) and how each allowed name builds plain data here.
// Names torch allows but this reader does not build (quantized, sparse, meta, numpy-backed tensors, Counter, sets,
// complex numbers) are refused with TORCH_PICKLE_UNSUPPORTED; every other name with TORCH_PICKLE_GLOBAL_NOT_ALLOWED.
import { TorchPickleError } from "../errors.js"
import type { TorchDType, TorchStorageRef, TorchTensorRef } from "../torch-tensor-ref.js"
import { TORCH_DTYPE_SIZE, isTorchTensorRef } from "../torch-tensor-ref.js"
import { PickleGlobal, isTuple, makeTuple } from "./pickle-machine.js"
import type { PickleTable } from "./pickle-machine.js"

/** torch's blocklisted modules: never allowed, whatever a user allow-lists. */
const BLOCKED_MODULES = new Set(["sys", "os", "posix", "nt"])

const STORAGE_DTYPES: Readonly<Record<string, TorchDType>> = {
  "torch.DoubleStorage": "float64",
  "torch.FloatStorage": "float32",
  "torch.HalfStorage": "float16",
  "torch.BFloat16Storage": "bfloat16",
  "torch.LongStorage": "int64",
  "torch.IntStorage": "int32",
  "torch.ShortStorage": "int16",
  "torch.CharStorage": "int8",
  "torch.ByteStorage": "uint8",
  "torch.BoolStorage": "bool",
  "torch.storage.UntypedStorage": "uint8",
}

const DTYPES: Readonly<Record<string, TorchDType>> = {
  "torch.float64": "float64",
  "torch.float32": "float32",
  "torch.float16": "float16",
  "torch.bfloat16": "bfloat16",
  "torch.int64": "int64",
  "torch.int32": "int32",
  "torch.int16": "int16",
  "torch.int8": "int8",
  "torch.uint8": "uint8",
  "torch.bool": "bool",
}

const REBUILD_TENSOR = new Set(["torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3"])
const PARAMETER = "torch.nn.parameter.Parameter"
const BUILT = new Set([
  "collections.OrderedDict",
  "torch._utils._rebuild_parameter",
  "torch._utils._rebuild_parameter_with_state",
  "torch._tensor._rebuild_from_type_v2",
  PARAMETER,
  "torch.Tensor",
  "torch.Size",
  "torch.device",
  "_codecs.encode",
  ...REBUILD_TENSOR,
  ...Object.keys(STORAGE_DTYPES),
  ...Object.keys(DTYPES),
])

/** Allowed by torch's weights-only unpickler, not built by this reader. */
const TORCH_ALLOWED_UNBUILT = new Set([
  "collections.Counter",
  "torch.serialization._get_layout",
  "builtins.bytearray",
  "builtins.set",
  "builtins.complex",
  "torch._utils._rebuild_qtensor",
  "torch._utils._rebuild_sparse_tensor",
  "torch._utils._rebuild_meta_tensor_no_storage",
  "torch._utils._rebuild_wrapper_subclass",
  "torch._utils._rebuild_device_tensor_from_numpy",
  "torch._utils._rebuild_device_tensor_from_cpu_tensor",
  "torch.storage.TypedStorage",
  "torch.ComplexDoubleStorage",
  "torch.ComplexFloatStorage",
  "torch.QUInt8Storage",
  "torch.QInt8Storage",
  "torch.QInt32Storage",
  "torch.QUInt4x2Storage",
  "torch.QUInt2x4Storage",
])

/** Python 2 module names torch maps before checking (`torch._utils.IMPORT_MAPPING`, the parts that matter here). */
const IMPORT_MAPPING: Readonly<Record<string, string>> = { __builtin__: "builtins", copy_reg: "copyreg" }

/** A fresh OrderedDict; kept distinct from plain dicts only for BUILD. */
function orderedDict(): Map<unknown, unknown> {
  return new Map()
}

function isInt(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value)
}

/** Options of {@link torchTable}. */
export interface TorchTableOptions {
  readonly source: string
  /** Called once per distinct storage key the pickle names (to check it against the archive). */
  readonly storages: Map<string, TorchStorageRef>
}

/** The {@link PickleTable} of a weights-only torch load. */
export function torchTable({ source, storages }: TorchTableOptions): PickleTable {
  const notAllowed = (what: string): TorchPickleError =>
    new TorchPickleError(
      "TORCH_PICKLE_CALL_NOT_ALLOWED",
      `"${source}": ${what}, which a weights-only load does not allow. The file is not a plain checkpoint of tensors (or is malicious); nothing was run. Convert trusted files to safetensors.`,
    )
  const malformed = (what: string): TorchPickleError =>
    new TorchPickleError("TORCH_PICKLE_MALFORMED", `"${source}": ${what}. The checkpoint is corrupt or not written by torch.save; re-save it.`)
  const ints = (value: unknown, what: string): number[] => {
    const list = isTuple(value) || Array.isArray(value) ? (value as readonly unknown[]) : undefined
    if (list === undefined || !list.every((d) => isInt(d) && d >= 0)) throw malformed(`${what} is not a tuple of non-negative integers`)
    return [...(list as number[])]
  }

  const rebuildTensor = (name: string, args: readonly unknown[]): TorchTensorRef => {
    const [storage, offset, size, stride] = args
    if (!(storage instanceof StorageValue)) throw malformed(`${name} gets ${describe(storage)} instead of a storage`)
    let dtype = storage.ref.dtype
    if (name === "torch._utils._rebuild_tensor_v3") {
      const given = args[6]
      if (!(given instanceof DTypeGlobal)) throw malformed(`${name} gets ${describe(given)} instead of a dtype`)
      dtype = given.dtype
    } else if (name === "torch._utils._rebuild_tensor_v2" ? args.length < 6 || args.length > 7 : args.length !== 4) {
      throw malformed(`${name} gets ${args.length} arguments`)
    }
    if (!isInt(offset) || offset < 0) throw malformed(`${name} gets storage offset ${describe(offset)}`)
    const shape = ints(size, `the size of a tensor`)
    const strides = ints(stride, `the stride of a tensor`)
    if (shape.length !== strides.length) throw malformed(`a tensor has size [${shape}] but stride [${strides}]`)
    // the last element the view touches must lie inside the storage
    const storageBytes = storage.ref.numel * TORCH_DTYPE_SIZE[storage.ref.dtype]
    if (shape.every((d) => d > 0)) {
      const last = offset + shape.reduce((acc, d, i) => acc + (d - 1) * strides[i]!, 0)
      if ((last + 1) * TORCH_DTYPE_SIZE[dtype] > storageBytes) {
        throw malformed(`a tensor of size [${shape}], stride [${strides}] at offset ${offset} reaches element ${last}, past its ${storage.ref.numel}-element storage "${storage.ref.key}"`)
      }
    }
    return {
      kind: "torch-tensor",
      storage: storage.ref,
      dtype,
      storageOffset: offset,
      shape: Object.freeze(shape),
      stride: Object.freeze(strides),
      requiresGrad: args[4] === true,
    }
  }

  const call = (callable: unknown, args: readonly unknown[], how: string): unknown => {
    if (!(callable instanceof PickleGlobal)) throw notAllowed(`${how} of ${describe(callable)}`)
    const name = callable.fullName
    if (REBUILD_TENSOR.has(name)) return rebuildTensor(name, args)
    switch (name) {
      case "collections.OrderedDict": {
        const dict = orderedDict()
        if (args.length === 1 && Array.isArray(args[0])) {
          for (const pair of args[0] as unknown[]) {
            if (!Array.isArray(pair) || pair.length !== 2) throw malformed("OrderedDict gets items that are not pairs")
            dict.set(pair[0], pair[1])
          }
        } else if (args.length !== 0) throw malformed(`OrderedDict gets ${args.length} arguments`)
        return dict
      }
      case "torch._utils._rebuild_parameter":
      case "torch._utils._rebuild_parameter_with_state":
      case PARAMETER: {
        const data = args[0]
        if (!isTorchTensorRef(data)) throw malformed(`${name} gets ${describe(data)} instead of a tensor`)
        return args[1] === true && !data.requiresGrad ? { ...data, requiresGrad: true } : data
      }
      case "torch._tensor._rebuild_from_type_v2": {
        const [func, newType, innerArgs] = args
        if (!(newType instanceof PickleGlobal) || (newType.fullName !== "torch.Tensor" && newType.fullName !== PARAMETER)) {
          throw new TorchPickleError(
            "TORCH_PICKLE_UNSUPPORTED",
            `"${source}": a tensor subclass ${describe(newType)} is rebuilt; this reader builds plain tensors and parameters only. Save plain tensors (e.g. t.detach().clone()).`,
          )
        }
        if (!isTuple(innerArgs)) throw malformed("_rebuild_from_type_v2 gets arguments that are not a tuple")
        return call(func, innerArgs, how)
      }
      case "torch.Size":
        if (args.length !== 1) throw malformed(`torch.Size gets ${args.length} arguments`)
        return makeTuple(ints(args[0], "torch.Size"))
      case "torch.device":
        if (!args.every((a) => typeof a === "string" || isInt(a))) throw malformed("torch.device gets arguments that are not a name and an index")
        return args.join(":")
      case "_codecs.encode": {
        const [text, encoding] = args
        if (typeof text !== "string" || (encoding !== "latin1" && encoding !== "latin-1")) throw malformed("_codecs.encode is only used with (str, 'latin1')")
        const bytes = new Uint8Array(text.length)
        for (let i = 0; i < text.length; i++) {
          const code = text.charCodeAt(i)
          if (code > 0xff) throw malformed("_codecs.encode gets a character outside latin-1")
          bytes[i] = code
        }
        return bytes
      }
      default:
        throw notAllowed(`${how} of ${name}`)
    }
  }

  return {
    global(rawModule, name) {
      const module = IMPORT_MAPPING[rawModule] ?? rawModule
      const full = `${module}.${name}`
      if (BLOCKED_MODULES.has(module.split(".")[0]!) || !(BUILT.has(full) || TORCH_ALLOWED_UNBUILT.has(full))) {
        throw new TorchPickleError(
          "TORCH_PICKLE_GLOBAL_NOT_ALLOWED",
          `${full} is not allowed in a weights-only load ("${source}" asks for it; torch.load(weights_only=True) refuses it too). ` +
            "The file is not a plain checkpoint of tensors and may be malicious: nothing from it was run. Use a safetensors file, or a checkpoint saved from a state dict.",
        )
      }
      if (TORCH_ALLOWED_UNBUILT.has(full)) {
        throw new TorchPickleError(
          "TORCH_PICKLE_UNSUPPORTED",
          `"${source}" uses ${full}, which torch allows in a weights-only load but this reader does not build (it reads dense float/int tensors in dicts, lists and tuples). Save dense tensors, or convert the file to safetensors.`,
        )
      }
      const dtype = DTYPES[full]
      if (dtype !== undefined) return new DTypeGlobal(module, name, dtype)
      return new PickleGlobal(module, name)
    },
    reduce(callable, args) {
      return call(callable, args, "a call (REDUCE)")
    },
    newObject(cls, args) {
      if (cls instanceof PickleGlobal && (cls.fullName === PARAMETER || cls.fullName === "collections.OrderedDict")) return call(cls, args, "NEWOBJ")
      throw notAllowed(`creating an object (NEWOBJ) of ${describe(cls)}`)
    },
    build(instance, _state) {
      // torch: BUILD only on Tensor, Parameter and OrderedDict; their state (python attributes such as a state
      // dict's `_metadata`, a parameter's hooks) carries no tensor data and is dropped.
      if (instance instanceof Map || isTorchTensorRef(instance)) return instance
      throw notAllowed(`setting the state (BUILD) of ${describe(instance)}`)
    },
    persistentLoad(pid) {
      if (!isTuple(pid) || pid[0] !== "storage") {
        throw notAllowed(`a persistent id ${describe(pid)} other than ('storage', …)`)
      }
      // zip format: ('storage', type, key, location, numel); legacy format adds view_metadata (None since torch 1.0)
      const [, type, key, location, numel] = pid
      if (pid.length === 6 && pid[5] !== null) {
        throw new TorchPickleError("TORCH_PICKLE_UNSUPPORTED", `"${source}" stores a storage view (legacy view_metadata), which this reader does not build. Re-save the file with a current torch.`)
      }
      if (pid.length !== 5 && pid.length !== 6) throw malformed(`a storage persistent id has ${pid.length} fields`)
      if (!(type instanceof PickleGlobal) || STORAGE_DTYPES[type.fullName] === undefined) throw malformed(`a storage persistent id names ${describe(type)} instead of a storage class`)
      if (typeof key !== "string" || typeof location !== "string" || !isInt(numel) || numel < 0) {
        throw malformed(`a storage persistent id is not ('storage', class, key, location, numel): ${describe(pid)}`)
      }
      const dtype = STORAGE_DTYPES[type.fullName]!
      const seen = storages.get(key)
      if (seen !== undefined) {
        if (seen.dtype !== dtype || seen.numel !== numel) throw malformed(`storage "${key}" is named as ${seen.numel} × ${seen.dtype} and as ${numel} × ${dtype}`)
        return new StorageValue(seen)
      }
      const ref: TorchStorageRef = { key, dtype, numel, location }
      storages.set(key, ref)
      return new StorageValue(ref)
    },
  }
}

class StorageValue {
  constructor(readonly ref: TorchStorageRef) {}
}

class DTypeGlobal extends PickleGlobal {
  constructor(module: string, name: string, readonly dtype: TorchDType) {
    super(module, name)
  }
}

function describe(value: unknown): string {
  if (value instanceof PickleGlobal) return value.fullName
  if (value instanceof StorageValue) return `storage "${value.ref.key}"`
  if (value === null) return "None"
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (isTuple(value)) return `a ${value.length}-tuple`
  if (Array.isArray(value)) return "a list"
  if (value instanceof Map) return "a dict"
  if (isTorchTensorRef(value)) return "a tensor"
  return typeof value
}
