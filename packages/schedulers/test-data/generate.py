import json, math, sys, inspect, os
import torch, numpy as np
from safetensors.torch import save_file
import diffusers
out = sys.argv[1]
os.makedirs(out + "/schedulers", exist_ok=True)

def model(x, t, k):
    tt = float(torch.as_tensor(t).float().mean())
    n = x.numel()
    return 0.3 * x * math.cos(tt / 1000) + 0.1 * torch.sin(torch.arange(n, dtype=torch.float32).reshape(x.shape) * 0.37 + tt / 100 + k)

cases = json.load(open(sys.argv[2]))
for idx, case in enumerate(cases):
    cls = getattr(diffusers, case["class"])
    name = f"{idx:03d}-{case['class']}-{case['steps']}"
    try:
        s = cls(**case["config"])
        s.set_timesteps(case["steps"])
        tensors = {}
        gen0 = torch.Generator().manual_seed(idx)
        x = torch.randn(1, 4, 4, 4, generator=gen0) * getattr(s, "init_noise_sigma", 1.0)
        tensors["x.init"] = x.clone()
        takes_gen = "generator" in inspect.signature(s.step).parameters
        draws = []
        orig = torch.randn
        def rec(*a, **kw):
            r = orig(*a, **kw); draws.append(r.clone()); return r
        torch.randn = rec
        try:
            for k, t in enumerate(s.timesteps):
                xin = s.scale_model_input(x, t) if hasattr(s, 'scale_model_input') else x
                eps = model(xin, t, k)
                kw = {"generator": torch.Generator().manual_seed(1000 + k)} if takes_gen else {}
                x = s.step(eps, t, x, **kw).prev_sample
                tensors[f"x.step{k}"] = x.clone()
        finally:
            torch.randn = orig
        for i, d in enumerate(draws): tensors[f"noise.{i}"] = d.float().contiguous()
        meta = {"class": case["class"], "config": {k: v for k, v in dict(s.config).items() if not k.startswith("_")}, "steps": case["steps"],
                "timesteps": [float(v) for v in s.timesteps], "init_noise_sigma": float(getattr(s, "init_noise_sigma", 1.0)), "order": s.order}
        if hasattr(s, "sigmas") and s.sigmas is not None: meta["sigmas"] = [float(v) for v in s.sigmas]
        if hasattr(s, "add_noise"):
            n2 = case["steps"] // 2
            ts = s.timesteps[len(s.timesteps) // 2]
            if hasattr(s, "set_begin_index"): s.set_begin_index(n2)
            x0 = torch.randn(1, 4, 4, 4, generator=torch.Generator().manual_seed(77))
            nz = torch.randn(1, 4, 4, 4, generator=torch.Generator().manual_seed(78))
            try:
                o = s.add_noise(x0, nz, ts.reshape(1))
                tensors.update({"add_noise.x0": x0, "add_noise.noise": nz, "add_noise.out": o})
                meta["add_noise_timestep"] = float(ts)
            except Exception as e:
                print("add_noise failed", name, e)
        for k2, v in list(meta["config"].items()):
            if isinstance(v, (np.ndarray,)): meta["config"][k2] = v.tolist()
        json.dump(meta, open(f"{out}/schedulers/{name}.json", "w"))
        save_file({k: v.contiguous() for k, v in tensors.items()}, f"{out}/schedulers/{name}.safetensors", metadata={"meta": json.dumps(meta)})
    except Exception as e:
        print("SKIP", name, type(e).__name__, str(e)[:150])
