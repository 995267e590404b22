import { readSafetensors } from "@pagkit/tensor"
import { readFileSync } from "node:fs"
import { EulerDiscreteScheduler } from "./src/index.ts"
import { syntheticModel } from "./src/internal/oracle-loop.ts"
const m = JSON.parse(readFileSync('/tmp/h3oracles/schedulers/103-EulerDiscreteScheduler-8.json', 'utf8'))
const T = await readSafetensors('/tmp/h3oracles/schedulers/103-EulerDiscreteScheduler-8.safetensors')
const s = new EulerDiscreteScheduler(m.config); s.setTimesteps(8)
const x = T.get('x.init') as any; const t = s.timesteps[0]!
const xin = s.scaleModelInput(x, t)
const eps = syntheticModel(xin, t, 0)
console.log('sigma', s.sigmas![0], s.sigmas![1], 't', t)
console.log('xin', Array.from(xin.data.slice(0, 3)))
console.log('eps', Array.from(eps.data.slice(0, 3)))
const out = s.step(eps, t, x)
console.log('x0', Array.from(out.predOriginalSample!.data.slice(0, 3)))
console.log('prev', Array.from(out.prevSample.data.slice(0, 3)))
