"""E-mail notices for parents and children: "something waits for you", never what."""
