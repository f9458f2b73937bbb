"""Everything only ``hub demo`` (and the tests that play it) needs; production never imports it.

- ``queries``: the example queries the demo prints.
- ``province``: migrate, seed the demo province if empty, register the demo clients.
- ``transcripts``: enrol one school's signers at the simulators, ready five transcripts.
- ``seal``: whether this machine can hold the school seal's PKCS#11 token (SoftHSM2).
- ``jobs``: the in-process broker and worker, with enrolment at the simulators.
"""
