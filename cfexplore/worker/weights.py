"""`--weights`: a state_dict loaded as data (`torch.load(weights_only=True)`), never code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cfexplore.errors import CfxError
from cfexplore.errortext import full_text, short_error


def _is_torchscript_archive(path: Path) -> bool:
    """A zip holding `code/` or `constants.pkl`: a TorchScript archive (code, not data)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            return any(
                "/code/" in n or n.endswith("/constants.pkl") or n == "constants.pkl"
                for n in zf.namelist()
            )
    except (zipfile.BadZipFile, OSError):
        return False


def load_weights(module: Any, path: str) -> None:
    """Load a state_dict into `module` with `torch.load(weights_only=True)`.

    weights_only unpickles tensors and plain containers only: a pickle that would import or
    call anything is refused, so a weights file is data, never code. A TorchScript archive
    is code (torch.jit.load runs it) and is refused here too.
    """
    import pickle

    import torch

    p = Path(path)
    if _is_torchscript_archive(p):
        raise CfxError(
            f"--weights {p.name}: a TorchScript archive is code, not weights; it is not "
            "loaded (save a state_dict: torch.save(model.state_dict(), path))"
        )
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = next((ln for ln in str(exc).splitlines() if "GLOBAL" in ln), "")
        why = f" ({first.strip()[:100]})" if first else ""
        raise CfxError(
            f"--weights {p.name}: refused: it holds more than tensors{why}", full_text(exc)
        ) from exc
    except Exception as exc:
        raise CfxError(
            f"--weights {p.name}: cannot read: {short_error(exc)}", full_text(exc)
        ) from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CfxError(f"--weights {p.name}: not a state_dict (a dict of tensor names to tensors)")
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0] if lines else ""
        raise CfxError(
            f"--weights {p.name} does not fit {type(module).__name__}: {detail[:120]}", str(exc)
        ) from exc
