"""The national systems the department syncs to: the ministry's sector database and the
national transcript store (the contract in :mod:`.protocol`, the hub's client in
:mod:`.client`, the far side simulated in :mod:`.simulator`)."""
