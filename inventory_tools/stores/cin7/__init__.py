"""The Cin7 Core store: :mod:`.client` (the wire), :mod:`.fields` (product fields ↔ canonical text,
what is writable), :mod:`.references` (reference books and Cin7's rules for them),
:mod:`.writer` (journaled, resumable writes) and :mod:`.store` (the :class:`Cin7Store`)."""
from .store import Cin7Store, account_hash, credentials_from_env, state_path
from .writer import DONE, FAILED, PENDING, SENT

__all__ = ["Cin7Store", "account_hash", "credentials_from_env", "state_path", "DONE", "FAILED", "PENDING", "SENT"]
