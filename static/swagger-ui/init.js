// Kept out of index.html so that a strict Content-Security-Policy needs no inline script.
window.onload = () => {
  window.ui = SwaggerUIBundle({ url: "/api/swagger.json", dom_id: "#swagger-ui", deepLinking: true });
};
