// Starts the demo's GraphiQL (hub/web/graphiql.py): the query and variables are kept in
// the address for sharing; headers (a bearer token) are kept in this browser only.
(function () {
  "use strict";

  var WELCOME = [
    "# GraphiQL của hub (demo). Mở Headers bên dưới và dán:",
    '#   {"Authorization": "Bearer <token in ra bởi `hub demo`>"}',
    "# rồi chạy câu truy vấn (Ctrl-Enter).",
    "#",
    "# The hub's GraphiQL (demo). Open Headers below and paste",
    "# the Authorization header `hub demo` printed, then run the query (Ctrl-Enter).",
    "",
    "{ __typename }",
    "",
  ].join("\n");

  var parameters = new URLSearchParams(window.location.search);
  var endpoint = window.location.pathname;

  function remember(name, value) {
    if (value) {
      parameters.set(name, value);
    } else {
      parameters.delete(name);
    }
    var search = parameters.toString();
    window.history.replaceState(null, "", search ? "?" + search : endpoint);
  }

  var fetcher = GraphiQL.createFetcher({ url: endpoint });
  var explorer = GraphiQLPluginExplorer.explorerPlugin();

  function HubGraphiQL() {
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [explorer],
      defaultQuery: WELCOME,
      query: parameters.get("query") || undefined,
      variables: parameters.get("variables") || undefined,
      onEditQuery: function (query) {
        remember("query", query);
      },
      onEditVariables: function (variables) {
        remember("variables", variables);
      },
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      inputValueDeprecation: true,
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(HubGraphiQL),
  );
})();
