// Every payment action asks for confirmation, and a form is sent once: a double click
// disables the button before the second click lands (the server refuses repeats anyway).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  var amount = form.querySelector("input[name=amount]");
  if (question && amount) {
    question = question.replace("{amount}", amount.value.trim());
  }
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  if (form.dataset.sent === "1") {
    event.preventDefault();
    return;
  }
  form.dataset.sent = "1";
  // Disable once the browser has read the form: a disabled submit button would drop its
  // name=value (the bulk form's "action") from what is sent.
  window.setTimeout(function () {
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
  }, 0);
});
