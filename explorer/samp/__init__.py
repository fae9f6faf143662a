"""SAMP (Simple Application Messaging Protocol) with TOPCAT and Aladin.

:class:`~explorer.samp.client.SampLink` wraps one
:class:`astropy.samp.SAMPIntegratedClient`: send a table of sources as a
VOTable (``table.load.votable``), point Aladin at a position
(``script.aladin.send``) and receive row selections sent back
(``table.select.rowList``) as source ids. :func:`samp_link` is the one link of
a server process (connected lazily, closed at exit). No Panel here.
"""

from explorer.samp.client import SampLink, SampUnavailable, samp_link

__all__ = ["SampLink", "SampUnavailable", "samp_link"]
