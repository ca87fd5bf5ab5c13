"""The local AWS backend (moto) and clients; db_gen seeding.

Every AWS API other than Lambda is answered by moto, embedded in the control plane by
default or as an external moto server given by URL, behind the one endpoint.
"""
