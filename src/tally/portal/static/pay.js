// The Pay form of an owed invoice (portal/templates/portal/invoice.html). The card is typed
// into Stripe's own field (Stripe.js, loaded before this script): no card data reaches Tally.
// 1. POST .../pay/start           -> a setup's client secret
// 2. stripe.confirmCardSetup       -> Stripe keeps the card for this customer
// 3. POST .../pay {setupId, saveCard} -> the payment's outcome
// 4. 3-D Secure: stripe.confirmCardPayment, then POST .../pay/finish {paymentId, saveCard}
// Paid: the page is loaded again and shows the invoice Paid.
(function () {
  "use strict";

  var section = document.getElementById("pay");
  if (!section) { return; }
  var form = section.querySelector("form");
  var status = section.querySelector(".pay-status");
  var button = form.querySelector("button");

  // The page's words, in the customer's language (data-msg-* on the section).
  function words(name, english) {
    return section.getAttribute("data-msg-" + name) || english;
  }

  function say(text, kind) {
    status.textContent = text;
    status.setAttribute("data-kind", kind || "");
  }

  if (typeof window.Stripe !== "function") {
    say(words("unavailable", "Card payments are not available right now. Please try again later."), "error");
    return;
  }
  var stripe = window.Stripe(section.getAttribute("data-key"));
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  form.hidden = false;

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (!response.ok) {
          throw new Error((answer.error && answer.error.message) || words("failed", "The payment could not be made."));
        }
        return answer;
      });
    });
  }

  function outcome(answer, save) {
    if (answer.status === "SUCCEEDED") {
      say(words("paid", "Paid. Thank you!"), "ok");
      window.location.reload();
      return null;
    }
    if (answer.status === "REQUIRES_ACTION" && answer.clientSecret) {
      say(words("confirm", "Your bank asks you to confirm the payment."), "");
      return stripe.confirmCardPayment(answer.clientSecret).then(function () {
        // Whatever the browser was told, Tally asks Stripe what became of the payment.
        return post(section.getAttribute("data-finish"), { paymentId: answer.paymentId, saveCard: save });
      }).then(function (finished) {
        if (finished.status === "REQUIRES_ACTION") {
          throw new Error(words("unconfirmed", "The payment was not confirmed. Please try again."));
        }
        return outcome(finished, save);
      });
    }
    if (answer.status === "PENDING") {
      say(words("processing", "The payment is being processed. This page will show it once it is done."), "");
      return null;
    }
    throw new Error(answer.message || words("declined", "The card was declined."));
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var save = form.elements.save_card.checked;
    button.disabled = true;
    say(words("working", "Processing\u2026"), "");
    post(section.getAttribute("data-start"), {}).then(function (started) {
      return stripe.confirmCardSetup(started.clientSecret, { payment_method: { card: card } });
    }).then(function (result) {
      if (result.error) {
        throw new Error(result.error.message || words("unusable", "The card could not be used."));
      }
      return post(section.getAttribute("data-pay"), { setupId: result.setupIntent.id, saveCard: save });
    }).then(function (answer) {
      return outcome(answer, save);
    }).catch(function (error) {
      say(error.message || words("failed", "The payment could not be made."), "error");
      button.disabled = false;
    });
  });
})();
