"""Identity and family-relationship verification against the population database (C06):
the contract in :mod:`.protocol`, the hub's client in :mod:`.client`, the far side in
:mod:`.simulator`."""
