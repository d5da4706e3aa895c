/* The API reference page (/api/docs): Swagger UI on the OpenAPI document.
 * No validator badge (it would call swagger.io); "Try it out" sends
 * requests to this host with the token the reader pastes in. */
'use strict';
window.addEventListener('DOMContentLoaded', function () {
  var root = document.getElementById('swagger-ui');
  window.ui = SwaggerUIBundle({
    url: root.dataset.spec,
    domNode: root,
    deepLinking: true,
    validatorUrl: null,
    docExpansion: 'list',
    defaultModelsExpandDepth: 0,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
