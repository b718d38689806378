"""The Open Inference Protocol as both sides of the site speak it: the generated messages and
stubs, the service and metadata names, and the raw tensor codec. The accelerator server and the
pipelines' client import it; it imports neither."""
