"""Durable device state: the versioned record format (:mod:`.codec`), the storage
interface with its in-memory implementation (:mod:`.store`) and the SQLite store
(:mod:`.sqlite`), the default.  See ``docs/storage.rst``.
"""
