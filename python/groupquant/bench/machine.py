"""What the numbers were measured on, recorded next to them."""

import os
import platform
import subprocess

import torch

import groupquant


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _nvidia_driver():
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20, check=True)
        return out.stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return None


def device_name(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_model()} ({usable_cpus()} cores usable)"


def usable_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count()


def load_average():
    """1-minute load average: above the core count, CPU timings are not to be trusted."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def busy_warning():
    """A warning line when other work competes for the CPU cores, else None."""
    load, cores = load_average(), usable_cpus()
    if load is None or load <= max(1, cores) * 0.75:
        return None
    return (f"warning: load average {load:.1f} on {cores} usable cores; other processes compete for the CPU, "
            "so CPU timings (and GPU timings at small M, which are host-bound) are unreliable")


def info(devices):
    """A JSON-ready dict: software versions, CPU, and each benchmarked device."""
    result = {
        "groupquant": groupquant.__version__,
        "groupquant_libraries": {b: st.library for b, st in groupquant.backend_status().items() if st.loaded},
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "torch_hip": torch.version.hip,
        "python": platform.python_version(),
        "os": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable_cpus(),
        "torch_threads": torch.get_num_threads(),
        "load_average": load_average(),
        # The GPU launch-tuning override in force (None: the build's defaults),
        # so a run made with an override is never mistaken for the default.
        "gpu_tune": os.environ.get("GROUPQUANT_GPU_TUNE"),
        "devices": {},
    }
    for name, device in devices.items():
        entry = {"name": device_name(device)}
        if device.type == "cuda":
            props = torch.cuda.get_device_properties(device)
            entry.update({
                "driver": _nvidia_driver() if torch.version.hip is None else None,
                "compute_capability": f"{props.major}.{props.minor}",
                "memory_gib": round(props.total_memory / 2**30, 1),
                "l2_bytes": getattr(props, "L2_cache_size", None),
                "multiprocessors": props.multi_processor_count,
            })
        result["devices"][name] = entry
    return result
