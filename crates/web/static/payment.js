// The card payment page: mounts the gateway's Payment Element and confirms the payment.
// Everything it needs comes from data- attributes on #payment-form (no inline script, so the
// page's CSP can stay strict). Card details are typed into the gateway's own frame; this
// script never sees them.

const form = document.getElementById('payment-form');
const errors = document.getElementById('payment-errors');
const submit = document.getElementById('payment-submit');

function showError(message) {
  errors.textContent = message;
  errors.hidden = false;
}

function clearError() {
  errors.textContent = '';
  errors.hidden = true;
}

function start() {
  if (!form) {
    return;
  }
  const publishableKey = form.dataset.publishableKey;
  const clientSecret = form.dataset.clientSecret;
  const returnUrl = form.dataset.returnUrl;
  if (typeof window.Stripe !== 'function' || !publishableKey || !clientSecret || !returnUrl) {
    showError('Card payment is unavailable right now; please choose another payment method or try later.');
    return;
  }
  const stripe = window.Stripe(publishableKey);
  const elements = stripe.elements({ clientSecret });
  const payment = elements.create('payment');
  payment.mount('#payment-element');
  payment.on('ready', () => {
    submit.disabled = false;
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearError();
    submit.disabled = true;
    try {
      // On success the browser is sent to return_url; we only get here on an error.
      const { error } = await stripe.confirmPayment({
        elements,
        confirmParams: { return_url: returnUrl },
      });
      if (error) {
        showError(error.message || 'Your payment did not go through. Please check your details and try again.');
      }
    } catch (_) {
      showError('We could not reach the payment provider. Please check your connection and try again.');
    }
    submit.disabled = false;
  });
}

start();
