from devtools.sandbox.server import main

main()
