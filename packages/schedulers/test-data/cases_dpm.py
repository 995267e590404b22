import json
sd = {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012}
cases = []
def add(cls, cfg, steps):
    for n in steps: cases.append({"class": cls, "config": cfg, "steps": n})
for sp in ["leading", "trailing", "linspace"]:
    add("DPMSolverMultistepScheduler", {**sd, "timestep_spacing": sp, "steps_offset": 1}, [1, 7, 25])
    add("DPMSolverSinglestepScheduler", {**sd, "timestep_spacing": sp, "steps_offset": 1}, [7, 12])
    add("UniPCMultistepScheduler", {**sd, "timestep_spacing": sp, "steps_offset": 1}, [1, 7])
    add("DEISMultistepScheduler", {**sd, "timestep_spacing": sp, "steps_offset": 1}, [7])
    add("SASolverScheduler", {**sd, "timestep_spacing": sp, "steps_offset": 1}, [7])
for conv in ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas", "use_lu_lambdas"]:
    add("DPMSolverMultistepScheduler", {**sd, conv: True}, [6, 13])
for cfg in [{"solver_order": 3}, {"algorithm_type": "sde-dpmsolver++"}, {"algorithm_type": "dpmsolver"}, {"algorithm_type": "sde-dpmsolver"}, {"solver_type": "heun"},
            {"final_sigmas_type": "sigma_min"}, {"prediction_type": "v_prediction", "rescale_betas_zero_snr": True, "timestep_spacing": "trailing"},
            {"thresholding": True, "prediction_type": "sample"}, {"euler_at_final": True}, {"use_flow_sigmas": True, "flow_shift": 3.0, "prediction_type": "flow_prediction"}]:
    add("DPMSolverMultistepScheduler", {**sd, **cfg}, [8])
for cfg in [{"solver_order": 3}, {"algorithm_type": "dpmsolver"}, {"use_karras_sigmas": True}, {"algorithm_type": "sde-dpmsolver++"}]:
    add("DPMSolverSinglestepScheduler", {**sd, **cfg}, [9])
for cfg in [{"solver_type": "bh1"}, {"solver_order": 3}, {"predict_x0": False}, {"use_karras_sigmas": True}, {"disable_corrector": [0]}]:
    add("UniPCMultistepScheduler", {**sd, **cfg}, [9])
for cfg in [{"solver_order": 3}, {"use_karras_sigmas": True}]:
    add("DEISMultistepScheduler", {**sd, **cfg}, [9])
for cfg in [{}, {"solver_order": 3}, {"algorithm_type": "sde-dpmsolver++"}, {"sigma_schedule": "exponential"}]:
    add("EDMDPMSolverMultistepScheduler", cfg, [1, 9])
for cfg in [{"predictor_order": 3, "corrector_order": 3}, {"algorithm_type": "noise_prediction"}, {"use_karras_sigmas": True}]:
    add("SASolverScheduler", {**sd, **cfg}, [9])
json.dump(cases, open("cases_dpm.json", "w")); print(len(cases))
