from poollint.cli import main

main(prog_name="poollint")
