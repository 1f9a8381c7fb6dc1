"""A Twilio-compatible provider for demos, tests and benchmarks (`switchboard simulate`).

- `lifecycles`: scripted calls (inbound, outbound, child legs, AMD, recordings, every
  ending) and messages, with their callbacks and ground truth;
- `delivery`: the lossy network (duplicates, reordering, delays, drops);
- `records` and `rest`: the provider's REST API over its live records;
- `provider`: `ProviderSimulator`, which ties them together.
"""

from adapters.twilio.simulator.delivery import Chaos
from adapters.twilio.simulator.lifecycles import Callback, ScriptedCall, script_call
from adapters.twilio.simulator.provider import ProviderSimulator, SimulationReport

__all__ = [
    "Callback",
    "Chaos",
    "ProviderSimulator",
    "ScriptedCall",
    "SimulationReport",
    "script_call",
]
