/* linqadmin: the API docs page (templates/api/docs.html) - Swagger UI over /api/v1/openapi.json,
   from our own static files. */
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.getAttribute("data-schema-url"),
    dom_id: "#swagger-ui",
    presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIStandalonePreset],
    layout: "BaseLayout",
    deepLinking: true
  });
}());
