"""Long work on Dramatiq workers: what every job shares (:mod:`hub.jobs.core`), each kind's
steps (signing, sync, certificates, migration, generation), the actors (:mod:`hub.jobs.actors`)
and the broker."""
