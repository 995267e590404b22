import type { CaseKind } from "../kind.js"
import { pendingKinds } from "./pending.js"
import { torchRandnKind } from "./torch-randn.js"

/** Every case kind the runner knows, in detection order (first match wins). */
export const caseKinds: readonly CaseKind[] = [torchRandnKind, ...pendingKinds]
