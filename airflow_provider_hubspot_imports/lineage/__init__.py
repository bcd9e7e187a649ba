"""OpenLineage for HubSpot imports: dataset names (`naming`, pure) and facets (`facets`, which
imports the OpenLineage provider and is only imported by the ``get_openlineage_facets_*`` methods)."""
