"""The far side of the PKCS#11 adapter, for the demo and the contract tests: each school's
seal token played by a real SoftHSM2 token, all behind one
:class:`~hub.adapters.signing.pkcs11.adapter.SealTokens` (:func:`simulate`).

A school keeps its seal (con dấu / ký số tổ chức) on a USB token and the hub
reaches it through the vendor's PKCS#11 module (PROVIDERS.md). SoftHSM2 is a
real PKCS#11 module with the same calls, so the adapter, pyHanko and
``pkcs11-tool`` all work against it exactly as against a school's token: the
seal key is generated *on* the token, sensitive and not extractable, and only
its public half leaves, to be certified by the :class:`DemoPKI`.

**One SoftHSM2 per token store, per process.** SoftHSM2 reads ``SOFTHSM2_CONF``
(which names the directory holding the tokens) once, in ``C_Initialize``, and
lists the tokens of that directory then; python-pkcs11 loads a module once per
path and process and keeps it initialised; the dynamic loader shares one copy
of a library per file. So a process that loaded SoftHSM2 for one directory
cannot see another directory's tokens, nor tokens added later by
``softhsm2-util``, through the same module path. Therefore every token gets a
store of its own under ``directory`` — its configuration, its token files and
its own *copy* of the SoftHSM2 module, which the loader treats as a separate
library — and the copy is loaded once, with ``SOFTHSM2_CONF`` pointing at that
store, while the token is provisioned. Every later user in the process (the
adapter, pyHanko) gets that already-initialised instance from python-pkcs11's
cache by using :attr:`SealToken.module_path` verbatim, whatever
``SOFTHSM2_CONF`` says by then; another process needs
:attr:`SealToken.environment`. Tests in one process may thus provision as many
tokens, in as many directories, as they like, in any order.

A token has no back office, phone or HTTP server: there is nothing to steer, only
tokens to provision. Enrolling a school provisions its token; the providers file
gets one sub-table per school.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from pkcs11 import Attribute, KeyType, MechanismFlag
from pkcs11.util.x509 import decode_x509_certificate

from hub.adapters.signing.pkcs11 import PROVIDER
from hub.adapters.signing.pkcs11.adapter import Pkcs11Adapter, SealTokens, load_module
from hub.adapters.signing.pki import GOV, DemoPKI
from hub.adapters.signing.simulator import Enrolled, Simulation

#: Where distributions install the SoftHSM2 module (Debian's package ``libsofthsm2``
#: first; ``/usr/lib/softhsm`` is its multiarch-independent symlink).
SOFTHSM2_MODULES = (
    Path("/usr/lib/softhsm/libsofthsm2.so"),
    Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
    Path("/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"),
    Path("/usr/local/lib/softhsm/libsofthsm2.so"),
)

#: Every simulated seal token's user PIN and security officer's PIN.
SEAL_PIN, SEAL_SO_PIN = "246810", "13579"

#: The seal key's label on the token; its certificate carries the same label and ID.
SEAL_KEY_LABEL = "school-seal"

#: A PKCS#11 token label is at most 32 bytes of UTF-8 (CK_TOKEN_INFO.label).
_MAX_LABEL_BYTES = 32


class SoftHSMUnavailable(RuntimeError):
    """SoftHSM2 (``softhsm2-util`` or its module) is not installed on this machine."""


@dataclass(frozen=True, slots=True)
class SealToken:
    """A provisioned seal token: how to reach it and what it holds.

    ``module_path`` is this token's own copy of the SoftHSM2 module; pass it to
    the adapter or pyHanko exactly as given, so python-pkcs11 finds the instance
    already bound to this token's store (see the module docstring).
    """

    module_path: str
    token_label: str
    key_label: str
    key_id: bytes
    conf_path: Path
    certificate: x509.Certificate
    #: The issuing CA's certificate first, the root last; stored on the token too.
    chain: tuple[x509.Certificate, ...]

    @property
    def environment(self) -> dict[str, str]:
        """What another process (a demo server, ``pkcs11-tool``) needs to see this token."""
        return {"SOFTHSM2_CONF": str(self.conf_path)}


def provision_seal_token(
    directory: Path,
    *,
    pki: DemoPKI,
    school_name: str,
    school_code: str,
    label: str,
    user_pin: str,
    so_pin: str,
    ca: str = GOV,
    key_label: str = SEAL_KEY_LABEL,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
) -> SealToken:
    """Make a school's seal token: a key generated on it, certified by ``pki``, stored back.

    The token lives in a new store ``directory/<label>`` (its own configuration,
    token files and module copy). ``valid_from``/``valid_to`` bound the seal
    certificate, e.g. in the past to play a school whose seal has expired.
    Raises :class:`SoftHSMUnavailable` when SoftHSM2 is not installed and
    :class:`FileExistsError` when ``directory`` already has a token so labelled.
    """
    if not label or len(label.encode()) > _MAX_LABEL_BYTES:
        raise ValueError(f"a token label is 1 to {_MAX_LABEL_BYTES} bytes: {label!r}")
    util = shutil.which("softhsm2-util")
    system_module = next((path for path in SOFTHSM2_MODULES if path.is_file()), None)
    if util is None or system_module is None:
        raise SoftHSMUnavailable(
            "SoftHSM2 is not installed (softhsm2-util and libsofthsm2.so): "
            "run `make system-deps` or `apt-get install softhsm2`."
        )

    store = directory / re.sub(r"[^A-Za-z0-9._-]", "_", label)
    store.mkdir(parents=True, exist_ok=False)
    (store / "tokens").mkdir()
    conf_path = store / "softhsm2.conf"
    conf_path.write_text(
        f"directories.tokendir = {store / 'tokens'}\n"
        "objectstore.backend = file\n"
        "log.level = ERROR\n"
        "slots.removable = false\n"
    )
    module_path = str(store / system_module.name)
    shutil.copyfile(system_module, module_path)

    # python-pkcs11 cannot initialise a token (no C_InitToken), and the module
    # must find the token when it is first loaded, so the token comes first.
    initialised = subprocess.run(
        [util, "--init-token", "--free", "--label", label, "--pin", user_pin, "--so-pin", so_pin],
        env={**os.environ, "SOFTHSM2_CONF": str(conf_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    if initialised.returncode != 0:
        raise RuntimeError(f"softhsm2-util could not initialise {label!r}: {initialised.stderr}")
    token = _load_token(module_path, conf_path, label)
    with token.open(rw=True, user_pin=user_pin) as session:
        public, private = session.generate_keypair(
            KeyType.RSA,
            2048,
            label=key_label,
            store=True,
            capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
            private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
        )
        public_key = rsa.RSAPublicNumbers(
            int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big"),
            int.from_bytes(public[Attribute.MODULUS], "big"),
        ).public_key()
        # CKA_ID = the certificate's SubjectKeyIdentifier, as CA enrolment tools
        # do, so the key, its certificate and the credential id all agree.
        key_id = x509.SubjectKeyIdentifier.from_public_key(public_key).digest
        public[Attribute.ID] = key_id
        private[Attribute.ID] = key_id
        certificate = pki.certify(
            ca,
            public_key,
            pki.seal_subject(school_name=school_name, school_code=school_code),
            valid_from=valid_from,
            valid_to=valid_to,
        )
        _store_certificate(session, certificate, key_id=key_id, label=key_label)
        chain = pki.authorities[ca].chain
        for authority in chain:
            _store_certificate(
                session,
                authority,
                key_id=x509.SubjectKeyIdentifier.from_public_key(authority.public_key()).digest,
                label=str(authority.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value),
            )
    return SealToken(
        module_path=module_path,
        token_label=label,
        key_label=key_label,
        key_id=key_id,
        conf_path=conf_path,
        certificate=certificate,
        chain=chain,
    )


def _load_token(module_path: str, conf_path: Path, label: str) -> pkcs11.Token:
    """Load a store's module copy with ``SOFTHSM2_CONF`` naming that store, then restore it."""
    return load_module(module_path, {"SOFTHSM2_CONF": str(conf_path)}).get_token(token_label=label)


def _store_certificate(
    session: pkcs11.Session, certificate: x509.Certificate, *, key_id: bytes, label: str
) -> None:
    """A public certificate object on the token, found by readers through ``key_id``/``label``."""
    template = decode_x509_certificate(certificate.public_bytes(Encoding.DER))
    template |= {
        Attribute.TOKEN: True,
        Attribute.PRIVATE: False,
        Attribute.ID: key_id,
        Attribute.LABEL: label,
    }
    session.create_object(template)


def simulate(pki: DemoPKI, *, directory: Path, variant: str, confirm_delay: float) -> Simulation:
    """Seal tokens provisioned under ``directory/tokens`` as schools are enrolled."""
    provisioned: dict[str, SealToken] = {}
    seals = SealTokens(tokens={})

    def adapter_for(token: SealToken, **options: Any) -> Pkcs11Adapter:
        options.pop("timeout", None)  # a token is local: no network timeout to set
        return Pkcs11Adapter(
            **{
                "module_path": token.module_path,
                "token_label": token.token_label,
                "user_pin": SEAL_PIN,
                "environment": token.environment,
                **options,
            }
        )

    def connect(**options: Any) -> SealTokens:
        return SealTokens(
            tokens={school: adapter_for(token, **options) for school, token in provisioned.items()}
        )

    def enrol(
        *,
        name: str,
        personal_id: str | None = None,
        school_code: str | None = None,
        organisation: str = "",
        credential_id: str | None = None,
        valid_from: datetime | None = None,
        valid_to: datetime | None = None,
    ) -> Enrolled:
        if school_code is None or personal_id is not None:
            raise ValueError(f"{PROVIDER.name} holds schools' seals: give a school_code")
        token = provision_seal_token(
            directory / "tokens",
            pki=pki,
            school_name=name[:64],
            school_code=school_code,
            label=f"seal-{school_code}"[:32],
            user_pin=SEAL_PIN,
            so_pin=SEAL_SO_PIN,
            valid_from=valid_from,
            valid_to=valid_to,
        )
        provisioned[school_code] = token
        seals.tokens[school_code] = adapter_for(token)
        return Enrolled(school_code, token.key_id.hex(), token.certificate)

    def config(_directory: Path) -> dict[str, Any]:
        return {
            school: {
                "module": token.module_path,
                "token_label": token.token_label,
                "pin": SEAL_PIN,
                "environment": token.environment,
            }
            for school, token in provisioned.items()
        }

    return Simulation(
        entry=PROVIDER,
        back_office=None,
        server=None,
        connect=lambda **options: seals if not options else connect(**options),
        misconfigured={"user_pin": "000000"},
        config=config,
        enrol=enrol,
    )
