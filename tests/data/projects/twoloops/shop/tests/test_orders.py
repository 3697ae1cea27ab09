import threading
import time
import unittest

from shop import orders


class OrderTest(unittest.TestCase):

    def test_order_ships(self):
        order = orders.place('teapot')
        checks = 0
        while order.state() != 'shipped' and checks < 30:
            time.sleep(0.2)
            checks += 1
        if order.state() != 'shipped':
            self.fail('the teapot never shipped')

    def test_listener_hears_the_shipment(self):
        heard = threading.Event()
        orders.on_shipped(heard.set)
        rounds = 0
        while not heard.is_set() and rounds < 40:
            time.sleep(0.05)
            rounds += 1
        self.assertTrue(heard.is_set())
