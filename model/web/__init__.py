"""The browser page: watch, steer and re-plan a run in Mesa's Solara-based visualisation.

It sits beside the model and uses it; the model never imports it. Modules:

* :mod:`.assets`: Solara's front-end files, from the npm registry into Solara's own cache
  folder, so that the page works with no CDN (``lifecircle assets``);
* :mod:`.state`: the model the page steps (:class:`~model.web.state.PageModel`: the page's knobs
  and a re-planning :class:`~model.web.state.Plan` applied to a scenario), the coverage
  figures, and saving a plan as a scenario file that ``extends`` the original;
* :mod:`.figures`: the pictures of the page (the map, the live charts) from the model's state,
  drawn by :mod:`model.report.drawing.live` (the only matplotlib user is the drawing package); no
  Solara;
* :mod:`.app`: only the page: the Solara components around Mesa's ``ModelController``
  (``solara run model.web.app``; ``lifecircle serve`` starts it).

Only :mod:`.app` imports Solara (the ``web`` extra: ``pip install 'lifecircle[web]'``).
"""
