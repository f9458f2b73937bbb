"""Whether this machine can hold the demo schools' seal tokens.

The school seal (con dấu) signs from a PKCS#11 token; the demo makes one per
school in SoftHSM2. A machine without SoftHSM2 still runs the demo: the seal
provider is switched off there, so transcripts can be signed by the homeroom
teacher and the principal but wait for the seal, and the demo says what to install.
"""

import shutil

#: What to install for the seal, as the demo prints it.
SEAL_PACKAGES = "softhsm2"
SEAL_SWITCHED_OFF = (
    "SoftHSM2 is not installed, so the school seal (SCHOOL_SEAL, PKCS#11) is switched off: "
    "transcripts can be signed by the homeroom teacher and the principal, not sealed. "
    f"Install it with `sudo apt-get install {SEAL_PACKAGES}` (or `sudo make system-deps`) "
    "and run the demo again."
)


def seal_tokens_available() -> bool:
    """SoftHSM2's tool and module are both installed (what provisioning a token needs)."""
    from hub.adapters.signing.pkcs11.simulator import SOFTHSM2_MODULES

    return shutil.which("softhsm2-util") is not None and any(
        module.is_file() for module in SOFTHSM2_MODULES
    )
