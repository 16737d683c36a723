"""Card photos (issue 14): check a link before a write is spent, upload and crop, store, reuse.

Layers, as elsewhere in the project:

* ``fetch.py`` (no Django): fetch a URL the way Linq would, without reaching our own network.
* ``images.py`` (no Django): JPEG/PNG by content, decoding limits, square crop, metadata stripping.
* ``services.py``: ``check_image_url``, ``photo_upload``, ``photo_used``, the library selectors.
* ``models.py``: the team photo library (imported into ``contactcards.models``).
* ``views.py`` / ``urls.py`` / ``forms.py``: the JSON check endpoint, the library page, stored photos.
"""
