// The receipt and Z report pages' Print button (no inline scripts under the CSP).
const button = document.getElementById('print');
if (button) {
  button.addEventListener('click', () => window.print());
}
