// Starts Swagger UI on /schema (desk/openapi_page.py). A file rather than an inline script:
// the desk's Content-Security-Policy runs scripts from the desk's own files only.
"use strict";
window.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    // The default sends the schema to validator.swagger.io: nothing leaves the desk.
    validatorUrl: null,
  });
});
