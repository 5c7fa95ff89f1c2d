"""Real places: importers that read map data into tables the model's stages can use.

This package sits beside the model, like planning/: it imports only :mod:`model.scenario` (the
catalogue, :class:`~model.scenario.ScenarioError`) and :mod:`model.city`, and nothing of the model
imports it.

* :mod:`.tags`: the OpenStreetMap tag mapping of the catalogue (each facility type's ``osm`` tags)
  and the matching of features to types.
* :mod:`.osm`: :func:`read_osm`, an OpenStreetMap extract read into projected tables of walkable
  ways, buildings, facilities, fences and gates (:class:`OsmPlace`).

docs/places.md describes the reader, its filters and its assumptions. The optional ``osm`` extra
(``pip install 'lifecircle[osm]'``) brings pyrosm and osmium, which :mod:`.osm` needs.
"""

from .osm import OsmPlace, read_osm
from .tags import TagMapping, catalogue_mapping

__all__ = ["OsmPlace", "TagMapping", "catalogue_mapping", "read_osm"]
