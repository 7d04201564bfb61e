"""MDT Info: the public configuration of an MDT."""

from __future__ import annotations

from typing import Any

from mockserver.handlers.registry import Call, handles

#: Keys never returned even if a world's MDT info holds them (the product docs call them secrets).
SECRET_KEYS = frozenset({"password", "passwords", "access_key", "access_keys", "secret", "api_key"})


@handles("getMdtInfo")
def get_mdt_info(call: Call) -> Any:
    info = call.state.world.mdts[call.mdt_id].info
    public_info = {key: value for key, value in info.items() if key not in SECRET_KEYS}
    return {**public_info, "id": call.mdt_id}
