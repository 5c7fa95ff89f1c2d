"""Real places: importers that read map data into tables the model's stages can use.

This package sits beside the model, like planning/: it imports only :mod:`model.scenario` (the
catalogue, :class:`~model.scenario.ScenarioError`) and :mod:`model.city`, and nothing of the model
imports it.

* :mod:`.tags`: the OpenStreetMap tag mapping of the catalogue (each facility type's ``osm`` tags)
  and the matching of features to types.
* :mod:`.osm`: :func:`read_osm`, an OpenStreetMap extract read into projected tables of walkable
  ways, buildings, facilities, fences and gates (:class:`OsmPlace`).
* :mod:`.gis`: a planner's GIS layers (GeoJSON, GeoPackage, shapefile), read and checked column by
  column.
* :mod:`.source`: either of them as one set of tables (a :class:`~.source.Source`), homes chosen.
* :mod:`.network`: fences that block walkable edges, the largest connected part, noding of lines.
* :mod:`.build`: a source made into the tables of a ``[streets]`` scenario: communities, residents
  shared by floor area, gates, unique names, what is far from the network.
* :mod:`.write`: the scenario folder, ``scenario.toml`` and ``streets/*.csv``, written whole or not at all.

``lifecircle import osm`` and ``lifecircle import gis`` (model/cli/importer.py) run them in that
order. docs/places.md describes the reader, the importer, their rules and their assumptions. The
optional ``osm`` extra (``pip install 'lifecircle[osm]'``) brings pyrosm, osmium and geopandas,
which they need.
"""

from .osm import OsmPlace, read_osm
from .tags import TagMapping, catalogue_mapping

__all__ = ["OsmPlace", "TagMapping", "catalogue_mapping", "read_osm"]
