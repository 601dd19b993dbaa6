// A little script, served as JavaScript.
document.title += " (script loaded)";
